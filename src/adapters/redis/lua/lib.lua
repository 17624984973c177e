-- lib: prepended to every script of the presence store when it is loaded, so every script runs
-- the fence below first and can use the helpers after it. KEYS and ARGV are each script's own;
-- ARGV[1] is always the caller's deadline, in ms of Redis' clock.
--
-- The fence (PROTOCOL §6a.1): a call that Redis starts after its deadline — it waited in a
-- stalled server while its client gave up and answered `unavailable` — must change nothing, now
-- or later. The adapter sets the deadline a margin before its command timeout, so a call that
-- passes the fence is answered before the client gives up on it.
local clock = redis.call('TIME')
if tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000) > tonumber(ARGV[1]) then
  return redis.error_reply('FENCED the call reached Redis after its deadline')
end
--
-- Directory entries are written byte for byte in the contract's key order
-- (`{"sid","client_id","role","org_id"[,"lesson_id"]}`), which cjson.encode would not keep, so they
-- are put together here with every value encoded by cjson. Session records in the org's presence
-- index are the service's own and go through cjson as a whole: `{state, login_time, since_ms,
-- lesson_id}` (state `connect` or `disconnect`, as in the alive hash; no lesson_id: in none).

local function decode(json)
  local ok, value = pcall(cjson.decode, json)
  if ok and type(value) == 'table' then return value end
  return nil
end

local function read_directory(key)
  local json = redis.call('GET', key)
  return json and decode(json)
end

-- The directory is keyed by user id alone: an entry written for another org or role must neither
-- name its socket to this user nor lead this user into its lesson.
local function is_own(entry, org, role)
  return entry.org_id == org and entry.role == role
end

local function own_directory(key, org, role)
  local entry = read_directory(key)
  if entry and is_own(entry, org, role) then return entry end
  return nil
end

local function directory_json(sid, user, role, org, lesson)
  local json = '{"sid":' .. cjson.encode(sid) .. ',"client_id":' .. cjson.encode(user)
    .. ',"role":' .. cjson.encode(role) .. ',"org_id":' .. cjson.encode(org)
  if lesson then json = json .. ',"lesson_id":' .. cjson.encode(lesson) end
  return json .. '}'
end

-- SET without KEEPTTL: the entry of a connected socket never expires.
local function write_directory(key, sid, user, role, org, lesson)
  redis.call('SET', key, directory_json(sid, user, role, org, lesson))
end

-- Rewrites an entry read by read_directory with another socket or lesson, keeping its TTL.
local function rewrite_directory(key, entry, sid, lesson)
  redis.call('SET', key, directory_json(sid, entry.client_id, entry.role, entry.org_id, lesson),
    'KEEPTTL')
end

local function read_session(index, user)
  local json = redis.call('HGET', index, user)
  return json and decode(json)
end

local function write_session(index, user, session)
  redis.call('HSET', index, user, cjson.encode(session))
end

local function set_member(key, user, sid, ttl)
  redis.call('HSET', key, user, sid)
  redis.call('EXPIRE', key, ttl)
end

-- A seat map from a JSON object of seat → holder, in slices: Lua's unpack stops at a few thousand
-- values.
local function create_seat_map(key, json)
  local fields = {}
  for seat, holder in pairs(cjson.decode(json)) do
    fields[#fields + 1] = seat
    fields[#fields + 1] = holder
    if #fields == 1000 then
      redis.call('HSET', key, unpack(fields))
      fields = {}
    end
  end
  if #fields > 0 then redis.call('HSET', key, unpack(fields)) end
end

-- The seat map as one JSON object rather than HGETALL's flat list: decoding two reply strings per
-- seat was a third of a join's cost in the Node process.
local function seat_map_json(key)
  local flat = redis.call('HGETALL', key)
  local seats = {}
  for i = 1, #flat, 2 do seats[flat[i]] = flat[i + 1] end
  return cjson.encode(seats)
end

-- The socket is live until until_ms, lapsed ones are dropped, and the session's alive hash is
-- written in state connect with the presence TTL.
local function make_live(alive, sockets, sid, now, until_ms, ttl, login_time)
  redis.call('ZREMRANGEBYSCORE', sockets, '-inf', now)
  redis.call('ZADD', sockets, until_ms, sid)
  redis.call('HSET', alive, 'login_time', login_time, 'state', 'connect')
  redis.call('EXPIRE', alive, ttl)
end

-- Keeps a TeacherApp socket of its teacher's session live (refresh_teacher, restore_teacher_socket),
-- with their KEYS 1-5 (alive, directory, presence index, live sockets, deadlines) and ARGV 2-8
-- (user, sid, org, role, now ms, presence TTL s, deadlines member). A connected session stays so
-- (its alive hash back if it had lapsed), a grace period ends (`reconnected`); a teacher without
-- a session, or whose grace period is over, is left alone (`ended`). A directory entry that names
-- no live socket of the teacher (or none at all) is pointed at this one.
local function keep_live()
  local session = read_session(KEYS[3], ARGV[2])
  if not session then return 'ended' end
  local now, ttl = tonumber(ARGV[6]), tonumber(ARGV[7])
  local until_ms = now + ttl * 1000
  local outcome
  if session.state == 'connect' then
    outcome = 'refreshed'
    redis.call('ZADD', KEYS[5], 'GT', until_ms, ARGV[8])
  elseif redis.call('EXISTS', KEYS[1]) == 1 then
    outcome = 'reconnected'
    session.state = 'connect'
    session.since_ms = now
    write_session(KEYS[3], ARGV[2], session)
    redis.call('ZADD', KEYS[5], until_ms, ARGV[8])
  else
    return 'ended'
  end
  make_live(KEYS[1], KEYS[4], ARGV[3], now, until_ms, ttl, session.login_time)
  local entry = read_directory(KEYS[2])
  if not entry then
    write_directory(KEYS[2], ARGV[3], ARGV[2], ARGV[5], ARGV[4], session.lesson_id)
  elseif is_own(entry, ARGV[4], ARGV[5]) then
    local live_until = redis.call('ZSCORE', KEYS[4], entry.sid)
    if not live_until or tonumber(live_until) <= now then
      write_directory(KEYS[2], ARGV[3], ARGV[2], ARGV[5], ARGV[4], entry.lesson_id)
    end
  end
  return outcome
end

-- A batched script serves the calls one node made together, one after the other, as that many
-- calls would. After the deadline, ARGV holds `stride` values per call: the number of KEYS it
-- takes (its keys come in order in KEYS), then its own arguments. `one(keys, args)` runs each
-- call under pcall, so that a key of the wrong type fails that call alone, answered
-- {'failed', Redis' error}. The replies come in order.
local function serve_each(stride, one)
  local replies, next_key = {}, 1
  for a = 2, #ARGV, stride do
    local count = tonumber(ARGV[a])
    local keys = {}
    for k = 1, count do keys[k] = KEYS[next_key + k - 1] end
    next_key = next_key + count
    local done, reply = pcall(one, keys, { unpack(ARGV, a + 1, a + stride - 1) })
    if not done then reply = { 'failed', type(reply) == 'table' and reply.err or tostring(reply) } end
    replies[#replies + 1] = reply
  end
  return replies
end
