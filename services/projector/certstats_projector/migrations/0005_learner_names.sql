-- The learner's first name and e-mail copied into certificate_learners beside last_name, so the
-- query API's learner lists (and their million-row CSV exports) read the summary in
-- certificate_learners_by_last_name order with no users join (docs/DECISIONS.md "Summary read
-- models"). Both are users.first_name / users.email as they are: NULL when the user has no
-- profile (no row, or a status toggle only). A profile sets all three names (SPEC.md 3
-- user.registered/updated), so first_name IS NULL also means "no last name" (stored as '').
ALTER TABLE certificate_learners ADD COLUMN first_name text, ADD COLUMN email text;

UPDATE certificate_learners cl SET first_name = u.first_name, email = u.email
FROM users u
WHERE u.platform_id = cl.platform_id AND u.user_id = cl.user_id
  AND (u.first_name IS NOT NULL OR u.email IS NOT NULL);
