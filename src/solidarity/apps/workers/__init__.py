"""The installation's background workers (the log sequencer, the notification booker): their
heartbeats, which `/readyz`, `/metrics` and `solidarity status` read."""
