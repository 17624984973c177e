-- disconnect_teacher: a TeacherApp socket went away (PresenceStore.disconnectTeacher).
-- KEYS: 1 alive, 2 directory, 3 org presence index, 4 live sockets, 5 deadlines,
--       6 lesson_teacher_{lesson} (only when ARGV[10] names a lesson)
-- ARGV: 1 deadline, 2 user, 3 sid, 4 org, 5 role, 6 now ms, 7 grace s, 8 deadlines member,
--       9 lesson TTL s, 10 the lesson the caller expects ('' for none)
-- Reply: {'not_live'} | {'lesson', lesson} when another device stays and ARGV[10] was not the
--        session's lesson (nothing written: call again with that lesson's key) |
--        {'other_devices', lesson or ''} | {'grace', lesson or ''}
local session = read_session(KEYS[3], ARGV[2])
if not session or session.state ~= 'connect' or not redis.call('ZSCORE', KEYS[4], ARGV[3]) then
  return { 'not_live' }
end
local now = tonumber(ARGV[6])
local latest
for _, sid in ipairs(redis.call('ZREVRANGEBYSCORE', KEYS[4], '+inf', '(' .. now)) do
  if sid ~= ARGV[3] then
    latest = sid
    break
  end
end
if latest and (session.lesson_id or '') ~= ARGV[10] then
  return { 'lesson', session.lesson_id or '' }
end
redis.call('ZREM', KEYS[4], ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[4], '-inf', now)
local own = own_directory(KEYS[2], ARGV[4], ARGV[5])
if latest then
  if own and own.sid == ARGV[3] then rewrite_directory(KEYS[2], own, latest, own.lesson_id) end
  -- The device that stays takes over the lesson membership the departed one held.
  if KEYS[6] and redis.call('HGET', KEYS[6], ARGV[2]) == ARGV[3] then
    redis.call('HSET', KEYS[6], ARGV[2], latest)
  end
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
