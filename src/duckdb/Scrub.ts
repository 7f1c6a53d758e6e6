// Provisional: replaced by the attach work (issue 4), which owns this module.
const urls = /\b(?:postgres(?:ql)?|mysql):\/\/\S+/gi
const paths = /(?:^|[\s'"(=])(\/[^\s'"()]+)/g

export const scrubMessage = (message: string, secrets: ReadonlyArray<string> = []): string => {
  let out = message
    .replace(urls, "<connection string>")
    .replace(paths, (whole, path: string) => whole.replace(path, "<path>"))
  for (const secret of secrets) if (secret !== "") out = out.replaceAll(secret, "<secret>")
  return out
}
