-- lockstep: which accounts sent which template in the same hour far above chance, from the
-- requests' own times. Over the distinct (account, template, hour) triples:
--   observed(t, h) = accounts with the triple;   expected(t, h) = N(t) * N(h) / N,
--   N(t), N(h) = triples of template t, of hour h;  N = all triples
-- (the rule detection applies to timed prompt rows: graphsleuth.detection.graph.lockstep_tokens).
-- A cell is kept when observed >= $min_accounts and observed / expected >= $min_lift; its
-- members are found by a join of the (few) kept cells with the triples.

-- name: lockstep
WITH cells AS (
    SELECT tkey, hour, count(*) AS observed FROM triples GROUP BY tkey, hour
), total AS (
    SELECT sum(observed) AS n FROM cells
), per_template AS (
    SELECT tkey, sum(observed) AS n_t FROM cells GROUP BY tkey
), per_hour AS (
    SELECT hour, sum(observed) AS n_h FROM cells GROUP BY hour
), hot AS (
    SELECT c.tkey, c.hour, c.observed, t.n_t * h.n_h / total.n AS expected
    FROM cells c JOIN per_template t USING (tkey) JOIN per_hour h USING (hour), total
    WHERE c.observed >= $min_accounts AND c.observed >= $min_lift * t.n_t * h.n_h / total.n
)
SELECT d.account_id, tn.template_id, to_timestamp(x.hour * 3600) AS hour, x.n AS requests,
       hot.observed AS accounts, round(hot.expected, 4) AS expected, round(hot.observed / hot.expected, 3) AS lift
FROM triples x JOIN hot ON hot.tkey = x.tkey AND hot.hour = x.hour
JOIN account_dict d ON d.ah = x.ah JOIN template_names tn ON tn.tkey = x.tkey;
