"""Outbound events: the transactional outbox and its pull feed (``GET /assignment/events``)."""
