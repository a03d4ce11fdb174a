/** Public API of the template engine (docs/zimbra-notes.md "The template engine"). */
export { renderTemplates, SUCCESS_MARKER } from './render-templates.js';
export { DEFAULT_MAX_SUBSTITUTIONS_PER_LINE, fillTemplate, findLastToken } from './interpolate.js';
export type { FillResult, Token } from './interpolate.js';
export { parseHeader } from './header.js';
export type { TemplateHeader } from './header.js';
export { computeOutputTarget, HANDLEBARS_SUFFIX, TEMPLATE_SUFFIX } from './output-name.js';
export type { OutputNameOptions, OutputTarget } from './output-name.js';
export { splitTemplateLines } from './template-lines.js';
export type {
  DomainExplodeItem,
  RenderedFile,
  RenderInput,
  RenderOptions,
  RenderResult,
  ServerExplodeItem,
  TemplateSource,
} from './types.js';
