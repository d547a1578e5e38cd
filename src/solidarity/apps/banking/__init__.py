"""Bank transactions in: receiving accounts, the review queue, returns, account movements,
reconciliation of statements with feeds, and the booking report. Statement files
(`imports`) and webhooks (`feeds`) hand their transactions to the booking door."""
