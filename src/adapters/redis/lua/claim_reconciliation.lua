-- claim_reconciliation: one node reconciles a loss (PresenceStore.claimReconciliation).
-- KEYS: 1 the loss's reconciliation key
-- ARGV: 1 deadline, 2 lease ms
-- Reply: 1 for the node that claimed it, else 0
if redis.call('SET', KEYS[1], '1', 'NX', 'PX', ARGV[2]) then return 1 end
return 0
