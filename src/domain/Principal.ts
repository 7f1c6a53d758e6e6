// Provisional: replaced by the access work (issue 5), which owns this module.
export interface Principal {
  readonly id: string
  readonly kind: "api-key" | "jwt" | "anonymous"
}
