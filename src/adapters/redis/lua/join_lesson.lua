-- join_lesson: sockets join lessons (PresenceStore.joinLesson). Batched (`serve_each` in
-- lib.lua): one call serves the joins made together.
-- KEYS: per join: lesson_seat, the caller's membership (lesson_teacher or lesson_student), the
--       other membership, directory; a TeacherApp's also org presence index, live sockets
-- ARGV: 1 deadline, then per join: its number of KEYS (4 or 6), user, sid, lesson, lesson TTL s,
--       seat map JSON ('' for none)
-- Reply: per join, in order: {'needs_seat_map'} | {'joined', previous lesson or '', seat map JSON}
--        | {'failed', error}
return serve_each(6, function(keys, args)
  local user, sid, lesson, ttl, seat_map = args[1], args[2], args[3], args[4], args[5]
  if redis.call('EXISTS', keys[1]) == 0 then
    if seat_map == '' then return { 'needs_seat_map' } end
    create_seat_map(keys[1], seat_map)
  end
  redis.call('HSET', keys[2], user, sid)
  for i = 1, 3 do redis.call('EXPIRE', keys[i], ttl) end
  local entry = read_directory(keys[4])
  -- A socket joining its lesson again (a page reload, a retried request) rewrites nothing.
  if entry and entry.sid == sid and entry.lesson_id ~= lesson then
    rewrite_directory(keys[4], entry, entry.sid, lesson)
  end
  if #keys == 6 and redis.call('ZSCORE', keys[6], sid) then
    local session = read_session(keys[5], user)
    if session and session.lesson_id ~= lesson then
      session.lesson_id = lesson
      write_session(keys[5], user, session)
    end
  end
  return { 'joined', entry and entry.lesson_id or '', seat_map_json(keys[1]) }
end)
