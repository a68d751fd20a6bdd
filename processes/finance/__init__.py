"""Finance tools: the read models and the journal verified against the ledger, the ledger
reconciled with Stripe."""
