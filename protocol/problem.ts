import { z } from "zod";

/** RFC 9457 problem details, as every HTTP error of the control plane is shaped. */
export const Problem = z.looseObject({
  type: z.string(),
  title: z.string(),
  status: z.number().int().min(400).max(599),
  detail: z.string().optional(),
  instance: z.string().optional(),
  issues: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
});
export type Problem = z.infer<typeof Problem>;

export const PROBLEM_CONTENT_TYPE = "application/problem+json";
export const problemTypeUri = (slug: string): string => `urn:x0tta6bl4:problem:${slug}`;
