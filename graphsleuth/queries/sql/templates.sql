-- templates (raw prompts only): templates derived from the prompt text. Each distinct text
-- is normalised once in the engine (gs_normalise: the rules of graphsleuth.detection.templates,
-- written by the driver as a macro of RE2 regexes), the distinct normal forms are grouped into
-- templates in Python (text_forms_grouped), and every text is mapped to its template here.

-- name: normalise_macro
-- gs_normalise(p): the normal form of a prompt. The driver puts the expression in place of
-- the marked ``p`` below: regexp_replace calls made from detection's own rule strings (the
-- patterns must be literals for the engine to compile each regex once), never from input.
CREATE OR REPLACE TEMP MACRO gs_normalise(p) AS /* normal form */ p;

-- name: texts
-- The distinct prompt texts (by hash) and their requests: a pass of its own.
CREATE OR REPLACE TEMP TABLE texts AS
SELECT rh, any_value(prompt) AS prompt, count(*) AS n FROM requests WHERE ok AND prompt IS NOT NULL GROUP BY rh;

-- name: text_forms
-- Each distinct text normalised once (the regexes never run once per request).
CREATE OR REPLACE TEMP TABLE text_forms AS
SELECT rh, gs_normalise(prompt) AS norm, n FROM texts;

-- name: distinct_forms
-- The distinct normal forms and how many requests each stands for: what Python groups.
SELECT hash(norm) AS fkey, any_value(norm) AS norm, CAST(sum(n) AS BIGINT) AS requests FROM text_forms GROUP BY hash(norm);

-- name: text_templates
CREATE OR REPLACE TEMP TABLE text_templates AS
SELECT t.rh, hash(g.template_id) AS tkey FROM text_forms t JOIN forms_grouped g ON g.fkey = hash(t.norm);

-- name: template_names_texts
CREATE OR REPLACE TEMP TABLE template_names AS
SELECT DISTINCT hash(template_id) AS tkey, template_id FROM forms_grouped;

-- name: templates
-- Each derived template with its most frequent normal form, how many normal forms it
-- merged and how many requests it stands for.
SELECT template_id, arg_max(norm, requests) AS normal_form, count(*) AS forms, CAST(sum(requests) AS BIGINT) AS requests
FROM forms_grouped
GROUP BY template_id;
