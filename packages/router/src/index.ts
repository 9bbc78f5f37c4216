export type {
  ConfidenceReading,
  ConfidenceSettings,
  ResolvedConfidenceSettings,
} from './confidence-check.js';
export type { CrisisKind, CrisisPattern, CrisisSignal } from './crisis-detection.js';
export { defaultCrisisPatterns, detectCrisis } from './crisis-detection.js';
export type { CrisisResources } from './crisis-response.js';
export { crisisMessage, defaultCrisisGuidance, defaultCrisisResources } from './crisis-response.js';
export type { RouteAttemptFailure } from './errors.js';
export {
  InvalidRouteRequestError,
  NoRouteAnsweredError,
  NoRouteError,
  RouterConfigError,
  UnknownModelError,
} from './errors.js';
export type { LocalModel, LocalModelState, LocalModelStatus } from './local-model.js';
export type { RequestNeeds, TokenCounter } from './request-analysis.js';
export { estimateTokens, requestNeeds } from './request-analysis.js';
export type { CategoryRule } from './request-category.js';
export { classifyRequest, defaultCategoryRules, fallbackCategory } from './request-category.js';
export type { ErrorSummary, Route, RouteAttempt, RouteDecision, RouteReason } from './route-decision.js';
export { routeReasons } from './route-decision.js';
export type {
  CrisisSettings,
  DecisionCounts,
  RoutedResult,
  RouterFeedback,
  RouterRequest,
  RouterSettings,
  RouterSnapshot,
  TeacherEntry,
} from './router.js';
export { createRouter, isTeacherFallbackError, Router } from './router.js';
export type {
  CategorySnapshot,
  FeedbackOutcome,
  FeedbackRating,
  LearningAdvice,
  LearningSnapshot,
  RoutingLearningSettings,
} from './routing-learning.js';
export { RoutingLearning } from './routing-learning.js';
