-- start_cooldown: a force_logout's cooldown starts (PresenceStore.startCooldown).
-- KEYS: 1 cooldown, 2 directory
-- ARGV: 1 deadline, 2 cooldown s, 3 org
-- Reply: the sid of the directory entry when it is that org's teacher's, else ''
redis.call('SET', KEYS[1], '1', 'EX', ARGV[2])
local own = own_directory(KEYS[2], ARGV[3], 'teacher')
return own and own.sid or ''
