"""Where the money went: tranches in money and in kind, approved by several people."""
