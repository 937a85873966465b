"""Audits of representation and fairness: scripts (who speaks), and — to come — the
generator, recommendations and moderation. Each audit computes typed figures
(`soundstage.audit.types`), then `soundstage.audit.report` writes audit.json and a
self-contained audit.html with plots and a plain-language verdict."""
