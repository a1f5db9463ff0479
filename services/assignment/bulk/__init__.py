"""Bulk lead assignment: uploads staged with COPY, validated, matched and distributed in SQL."""
