"""Consent and purposes (issue 20, PIPL): the accepted privacy policy version and opt-in choices."""
