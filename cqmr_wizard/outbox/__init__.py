"""The transactional outbox: messages are rows written with the change that causes them,
delivered only after commit (by the request's process right away, and by `flask outbox deliver`).

`queue.enqueue` adds a row; `delivery.HANDLERS` maps each kind to the function that sends it
(each sender registers its kind with `delivery.register_handler`, from create_app);
`dispatch` hands a transaction's messages to delivery once it has committed."""
