-- disconnect_teacher: a TeacherApp socket went away (PresenceStore.disconnectTeacher).
-- KEYS: 1 alive, 2 directory, 3 org presence index, 4 live sockets, 5 deadlines
-- ARGV: 1 deadline, 2 user, 3 sid, 4 org, 5 role, 6 now ms, 7 grace s, 8 deadlines member,
--       9 lesson TTL s
-- Reply: {'not_live'} | {'other_devices', lesson or ''} | {'grace', lesson or ''}
local session = read_session(KEYS[3], ARGV[2])
if not session or session.state ~= 'connect' or redis.call('ZREM', KEYS[4], ARGV[3]) == 0 then
  return { 'not_live' }
end
local now = tonumber(ARGV[6])
redis.call('ZREMRANGEBYSCORE', KEYS[4], '-inf', now)
local own = own_directory(KEYS[2], ARGV[4], ARGV[5])
local latest = redis.call('ZREVRANGE', KEYS[4], 0, 0)[1]
if latest then
  if own and own.sid == ARGV[3] then rewrite_directory(KEYS[2], own, latest, own.lesson_id) end
  return { 'other_devices', session.lesson_id or '' }
end
session.state = 'disconnect'
session.since_ms = now
write_session(KEYS[3], ARGV[2], session)
redis.call('HSET', KEYS[1], 'login_time', session.login_time, 'state', 'disconnect')
redis.call('EXPIRE', KEYS[1], ARGV[7])
redis.call('ZADD', KEYS[5], now + tonumber(ARGV[7]) * 1000, ARGV[8])
if own then redis.call('EXPIRE', KEYS[2], ARGV[9]) end
return { 'grace', session.lesson_id or '' }
