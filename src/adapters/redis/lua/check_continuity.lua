-- check_continuity: the store's identity, with a beat that every check moves on
-- (PresenceStore.checkContinuity).
-- KEYS: 1 continuity
-- ARGV: 1 deadline, 2 a new generation id, used when the store holds none
-- Reply: {run_id, generation, beat, 1 when this call created the generation else 0,
--         1 when the generation's cooldowns were restored (cooldowns_restored.lua) else 0}
local run_id = string.match(redis.call('INFO', 'server'), 'run_id:(%x+)')
local generation = redis.call('HGET', KEYS[1], 'generation')
if not generation then
  redis.call('HSET', KEYS[1], 'generation', ARGV[2], 'beat', 1)
  return { run_id, ARGV[2], 1, 1, 0 }
end
local beat = redis.call('HINCRBY', KEYS[1], 'beat', 1)
local reconciled = redis.call('HEXISTS', KEYS[1], 'cooldowns')
return { run_id, generation, beat, 0, reconciled }
