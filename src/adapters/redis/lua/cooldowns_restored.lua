-- cooldowns_restored: the cooldowns of the database are all in the store again, after the loss
-- that began the store's current generation (PresenceStore.restoreCooldowns, after its batch).
-- From now on a teacher without a cooldown key has none (connect_teacher.lua).
-- KEYS: 1 continuity
-- ARGV: 1 deadline, 2 the generation the restore was for
-- Reply: 1 when it marked the generation, 0 when another loss has begun a new one since
if redis.call('HGET', KEYS[1], 'generation') ~= ARGV[2] then return 0 end
redis.call('HSET', KEYS[1], 'cooldowns', '1')
return 1
