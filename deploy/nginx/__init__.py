"""The public gateway's nginx configuration: the template and its local renderer."""
