"""Gateways: the only code that knows Stripe's and Cal.com's wire formats."""
