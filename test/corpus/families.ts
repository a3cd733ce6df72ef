// The systematic families of the bad-input corpus: one bad thing at a time, in binary and in
// structured mode, on an event that is otherwise valid (so that letting the bad thing through
// would show as a pod). Generated because they are lists crossed with modes; `npm run corpus`
// prints every case.
import type { CorpusCase } from './corpus.ts';
import { binaryAttributes, structuredAttributes } from './families/attributes.ts';
import { restartIds } from './families/build.ts';
import {
  dataShapes,
  gatewayNames,
  gatewayNameTypes,
  messages,
  prototypeKeys,
} from './families/data.ts';
import { eventTypes, idsAndSources, replyHeaders } from './families/identity.ts';
import { sizes } from './families/sizes.ts';

/** Every generated case, in a stable order with stable ids. */
export function generatedCases(): CorpusCase[] {
  restartIds();
  return [
    ...gatewayNames(),
    ...gatewayNameTypes(),
    ...dataShapes(),
    ...prototypeKeys(),
    ...messages(),
    ...idsAndSources(),
    ...eventTypes(),
    ...binaryAttributes(),
    ...structuredAttributes(),
    ...sizes(),
    ...replyHeaders(),
  ];
}
