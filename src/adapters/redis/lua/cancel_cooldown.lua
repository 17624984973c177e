-- cancel_cooldown: takes a cooldown back (PresenceStore.cancelCooldown).
-- KEYS: 1 cooldown
-- ARGV: 1 deadline
-- Reply: 1
redis.call('DEL', KEYS[1])
return 1
