-- Operators' orders to the carrier breaker (forced open, disabled, closed again), newest last.
-- Every node applies each order it has not applied yet, and a node that starts applies the
-- latest: an order holds on every node, not only on the one that took the request.
CREATE TABLE breaker_orders (
    id BIGSERIAL PRIMARY KEY,
    state TEXT NOT NULL CHECK (state IN ('forced_open', 'disabled', 'closed')),
    by_user BIGINT REFERENCES users (id),
    at TIMESTAMPTZ NOT NULL DEFAULT now()
);
