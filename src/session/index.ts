export { Session, type DownstreamSink, type ForwardedServerRequest } from "./session.js";
export { SessionRegistry, type SessionEndHook } from "./registry.js";
export { ReplayBuffer, type ReplayEntry } from "./replay-buffer.js";
export { newSessionId } from "./ids.js";
export { resumePlan, parseSeq, canSwitch, attachResumed, defaultResumePoint, gapNotification, type ReplayGap, type ResumePlan } from "./continuity.js";
export { waitForDrain, failInFlight, inFlightCalls, type SettleSource } from "./drain.js";
