/**
 * What a use case does, seen from whoever runs it: one command in, one answer out. The node and
 * the composition root depend on this shape rather than on the classes, so that a simulator or a
 * test can stand in a use case of its own (an observed or a deliberately broken one).
 */
export interface UseCase<Command, Answer> {
  execute(command: Command): Promise<Answer>;
}
