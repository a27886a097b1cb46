// Tag names and values for the TraceQL editor's autocomplete (Tempo's /api/search/tags family).
export { tagNames, tagValues, TAG_SCOPES, type TagScope, type TagQuery, type TagNamesResult, type TagValuesResult, type TagValue, type TagValueType } from './tags.js';
export { parseTagTarget, fetchTargetOf, INTRINSIC_TAG_NAMES, type TagTarget, type AttributeTagScope } from './target.js';
export { conditionsOf } from './conditions.js';
export type { Condition } from '../../store/fetch/request.js';
