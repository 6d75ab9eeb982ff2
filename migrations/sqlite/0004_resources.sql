-- RFC 8707 resource indicators: the other audiences an application's access tokens may be issued
-- for (DESIGN.md, Token authority: audience). Empty: Propusk's own audience only. Tokens for
-- another audience are refused by Propusk's own APIs.
ALTER TABLE applications ADD COLUMN resources TEXT NOT NULL DEFAULT '[]';
