-- restore_cooldown: after a loss, a cooldown still running is set again
-- (PresenceStore.restoreCooldowns sends one call per cooldown in a pipeline).
-- KEYS: 1 cooldown
-- ARGV: 1 deadline, 2 ms left (positive)
-- Reply: 1 when it set the cooldown, 0 when one as long was already running
-- A cooldown started since the loss may run longer: restoring never shortens one.
if redis.call('PTTL', KEYS[1]) >= tonumber(ARGV[2]) then return 0 end
redis.call('SET', KEYS[1], '1', 'PX', ARGV[2])
return 1
