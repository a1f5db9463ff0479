"""Deployment assets: nginx gateway config, local run scripts, Kubernetes manifests."""
