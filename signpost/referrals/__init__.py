"""Referrals: a token, not a person; providers move its status; outcome counts outlive the rows."""
