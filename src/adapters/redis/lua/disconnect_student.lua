-- disconnect_student: a StudentWeb socket went away (PresenceStore.disconnectStudent).
-- KEYS: 1 directory
-- ARGV: 1 deadline, 2 sid, 3 lesson TTL s
-- Reply: {1, lesson or ''} while the entry names this socket, else {0, ''}
local entry = read_directory(KEYS[1])
if not entry or entry.sid ~= ARGV[2] then return { 0, '' } end
redis.call('EXPIRE', KEYS[1], ARGV[3])
return { 1, entry.lesson_id or '' }
