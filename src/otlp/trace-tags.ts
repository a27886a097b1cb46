// Tags (field number << 3 | wire type) of the OTLP trace schema's fields, shared by
// the decoder's switch cases and the encoder's writes.
import { WireType } from './wire.js';

const { VARINT, I64, LEN, I32 } = WireType;

export const T1_LEN = (1 << 3) | LEN;
export const T2_LEN = (2 << 3) | LEN;
export const T3_LEN = (3 << 3) | LEN;
export const T4_LEN = (4 << 3) | LEN;
export const T5_LEN = (5 << 3) | LEN;
export const T6_LEN = (6 << 3) | LEN;
export const T7_LEN = (7 << 3) | LEN;
export const T9_LEN = (9 << 3) | LEN;
export const T11_LEN = (11 << 3) | LEN;
export const T13_LEN = (13 << 3) | LEN;
export const T15_LEN = (15 << 3) | LEN;
export const T1_I64 = (1 << 3) | I64;
export const T4_I64 = (4 << 3) | I64;
export const T7_I64 = (7 << 3) | I64;
export const T8_I64 = (8 << 3) | I64;
export const T6_I32 = (6 << 3) | I32;
export const T16_I32 = (16 << 3) | I32;
export const T2_VARINT = (2 << 3) | VARINT;
export const T3_VARINT = (3 << 3) | VARINT;
export const T4_VARINT = (4 << 3) | VARINT;
export const T5_VARINT = (5 << 3) | VARINT;
export const T6_VARINT = (6 << 3) | VARINT;
export const T10_VARINT = (10 << 3) | VARINT;
export const T12_VARINT = (12 << 3) | VARINT;
export const T14_VARINT = (14 << 3) | VARINT;
