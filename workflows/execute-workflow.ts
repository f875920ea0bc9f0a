import { WorkflowEntrypoint, type WorkflowEvent, type WorkflowStep } from "cloudflare:workers";

export interface ExecuteParams {
  taskId: string;
}

export class ExecuteWorkflow extends WorkflowEntrypoint<Env, ExecuteParams> {
  override async run(event: WorkflowEvent<ExecuteParams>, step: WorkflowStep): Promise<unknown> {
    return step.do("init", async () => ({ taskId: event.payload.taskId }));
  }
}
