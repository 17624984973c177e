-- settle_expired_session: moves a teacher whose deadline passed one step on
-- (PresenceStore.settleExpiredSession).
-- KEYS: 1 alive, 2 org presence index, 3 live sockets, 4 deadlines
-- ARGV: 1 deadline, 2 user, 3 deadlines member, 4 now ms, 5 grace s, 6 lease ms
-- Reply: {'none'} | {'grace', lesson or ''} | {'claimed', epoch}
local session = read_session(KEYS[2], ARGV[2])
local due = redis.call('ZSCORE', KEYS[4], ARGV[3])
if not session then
  -- A deadline without a session record was left by a version without presence index; kept, it
  -- would come due at every sweep and take a place in its batch forever.
  if due then redis.call('ZREM', KEYS[4], ARGV[3]) end
  return { 'none' }
end
local now = tonumber(ARGV[4])
if not due or tonumber(due) > now or redis.call('EXISTS', KEYS[1]) == 1 then
  return { 'none' }
end
if session.state == 'connect' then
  -- Nobody refreshed any of its sockets within the TTL: the node_lost grace period starts.
  session.state = 'disconnect'
  session.since_ms = now
  write_session(KEYS[2], ARGV[2], session)
  redis.call('DEL', KEYS[3])
  redis.call('HSET', KEYS[1], 'login_time', session.login_time, 'state', 'disconnect')
  redis.call('EXPIRE', KEYS[1], ARGV[5])
  redis.call('ZADD', KEYS[4], now + tonumber(ARGV[5]) * 1000, ARGV[3])
  return { 'grace', session.lesson_id or '' }
end
redis.call('ZADD', KEYS[4], now + tonumber(ARGV[6]), ARGV[3])
return { 'claimed', tostring(session.login_time) }
