DROP TABLE jit_reservations;
DROP TABLE jit_fulfilment;
