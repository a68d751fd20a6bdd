"""Processes: services, process managers, finance tools, and the gateways they use."""
