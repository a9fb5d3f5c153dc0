"""Notices: announcements, publicity (公示) with comment windows and rounds, emergencies, receipts."""
