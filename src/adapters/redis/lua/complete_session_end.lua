-- complete_session_end: the claimed session ended (PresenceStore.completeSessionEnd).
-- KEYS: 1 alive, 2 org presence index, 3 live sockets, 4 deadlines
-- ARGV: 1 deadline, 2 user, 3 deadlines member, 4 epoch
-- Reply: 1 when it forgot the session, 0 when a newer one (another epoch, or alive) is there
local session = read_session(KEYS[2], ARGV[2])
if not session or session.login_time ~= tonumber(ARGV[4]) or redis.call('EXISTS', KEYS[1]) == 1 then
  return 0
end
redis.call('HDEL', KEYS[2], ARGV[2])
redis.call('DEL', KEYS[3])
redis.call('ZREM', KEYS[4], ARGV[3])
return 1
