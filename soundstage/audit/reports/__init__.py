"""One page per audit: its figures as a `soundstage.audit.report.Report`."""
