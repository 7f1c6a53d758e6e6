import GithubSlugger from "github-slugger"
import { Lexer, type Token, type Tokens, walkTokens } from "marked"
import { readRepoFile } from "./RepoFiles.js"

/** Reading the project's Markdown as GitHub renders it: headings, their anchors, links, sections. */

export interface Heading {
  readonly depth: number
  /** The heading as rendered text: code spans' contents kept, link targets and emphasis marks gone. */
  readonly text: string
}

const plainText = (tokens: ReadonlyArray<Token>): string =>
  tokens
    .map((token) =>
      "tokens" in token && token.tokens !== undefined
        ? plainText(token.tokens)
        : "text" in token
          ? String(token.text)
          : ""
    )
    .join("")

export const tokensOf = (markdown: string): Array<Token> => new Lexer({ gfm: true }).lex(markdown)

/** Every heading, in order, outside code blocks. */
export const headingsOf = (markdown: string): Array<Heading> =>
  tokensOf(markdown)
    .filter((token): token is Tokens.Heading => token.type === "heading")
    .map((token) => ({ depth: token.depth, text: plainText(token.tokens) }))

/** The `#anchors` GitHub gives a page's headings (a repeated heading gets `-1`, `-2`, …). */
export const anchorsOf = (markdown: string): Set<string> => {
  const slugger = new GithubSlugger()
  return new Set(headingsOf(markdown).map((heading) => slugger.slug(heading.text)))
}

/** Every link and image target, in text, tables and lists alike (not in code). */
export const linksOf = (markdown: string): Array<string> => {
  const targets: Array<string> = []
  walkTokens(tokensOf(markdown), (token) => {
    if (token.type === "link" || token.type === "image") targets.push(token.href)
  })
  return targets
}

/**
 * The Markdown under a heading (given as rendered text), up to the next heading of the same or a
 * higher level (with `own`, up to the next heading of any level). Throws when there is no such heading.
 */
export const sectionOf = (markdown: string, heading: string, own = false): string => {
  const tokens = tokensOf(markdown)
  const start = tokens.findIndex((token) => token.type === "heading" && plainText(token.tokens!) === heading)
  if (start === -1) throw new Error(`no heading "${heading}"`)
  const depth = (tokens[start] as Tokens.Heading).depth
  const rest = tokens.slice(start + 1)
  const end = rest.findIndex(
    (token) => token.type === "heading" && (own || (token as Tokens.Heading).depth <= depth)
  )
  return [tokens[start]!, ...(end === -1 ? rest : rest.slice(0, end))].map((token) => token.raw).join("")
}

/** A page of the repository, or one section of it (with `own`, without its subsections). */
export const readDoc = (relative: string, heading?: string, own = false): string => {
  const text = readRepoFile(relative)
  return heading === undefined ? text : sectionOf(text, heading, own)
}

/** The contents of the fenced code blocks of a language (`sh`, `json`, …), in order. */
export const codeBlocksOf = (markdown: string, language: string): Array<string> => {
  const blocks: Array<string> = []
  walkTokens(tokensOf(markdown), (token) => {
    if (token.type === "code" && token.lang === language) blocks.push(`${token.text}\n`)
  })
  return blocks
}

/** The rows of every table, each row its cells' raw Markdown. */
export const tableRowsOf = (markdown: string): Array<Array<string>> => {
  const rows: Array<Array<string>> = []
  walkTokens(tokensOf(markdown), (token) => {
    if (token.type === "table")
      for (const row of (token as Tokens.Table).rows) rows.push(row.map((cell) => cell.text))
  })
  return rows
}
