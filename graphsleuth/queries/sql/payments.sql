-- payments: the side payments table as given (logs rarely carry cards). The side tables are
-- read and checked by graphsleuth.evidence (file, row and column named) and registered by
-- the driver as side_accounts and side_payments.

-- name: payments
SELECT account_id, payment_id, kind, bin FROM side_payments;
