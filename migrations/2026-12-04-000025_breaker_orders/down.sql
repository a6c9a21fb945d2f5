DROP TABLE breaker_orders;
