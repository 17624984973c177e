-- restore_session: after a loss, a teacher with an active lesson and no session gets one in its
-- grace period (PresenceStore.restoreSessions sends one call per teacher in a pipeline).
-- KEYS: 1 alive, 2 org presence index, 3 deadlines
-- ARGV: 1 deadline, 2 user, 3 deadlines member, 4 now ms, 5 grace s, 6 epoch, 7 lesson
-- Reply: 1 when it created the session, else 0
if read_session(KEYS[2], ARGV[2]) or redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
local now = tonumber(ARGV[4])
write_session(KEYS[2], ARGV[2], {
  state = 'disconnect', login_time = tonumber(ARGV[6]), since_ms = now, lesson_id = ARGV[7],
})
redis.call('HSET', KEYS[1], 'login_time', ARGV[6], 'state', 'disconnect')
redis.call('EXPIRE', KEYS[1], ARGV[5])
redis.call('ZADD', KEYS[3], now + tonumber(ARGV[5]) * 1000, ARGV[3])
return 1
