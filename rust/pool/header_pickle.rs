//! Reading a frame header without serde-pickle's buffers.
//!
//! Headers are pickles that serde-pickle writes ([`super::frame::encode_header`]),
//! and serde-pickle reads them back. But its reader allocates about 20 KB
//! per call (a read buffer, a value stack, and another stack at every
//! `MARK`), which cost a link thread as much as the rest of a frame: every
//! tell paid for a heap consolidation. [`parse`] reads the few opcodes a
//! header is made of into the same [`Value`], with no buffer of its own
//! beyond the values; anything else (an opcode it does not know, a pickle
//! it finds malformed) it leaves to serde-pickle, which reads it or says
//! why not. The wire format is unchanged.

use serde_pickle::{HashableValue, Value};

const MARK: u8 = b'(';
const STOP: u8 = b'.';
const BININT: u8 = b'J';
const BININT1: u8 = b'K';
const BININT2: u8 = b'M';
const NONE: u8 = b'N';
const BINUNICODE: u8 = b'X';
const SHORT_BINBYTES: u8 = b'C';
const BINBYTES: u8 = b'B';
const EMPTY_LIST: u8 = b']';
const APPEND: u8 = b'a';
const APPENDS: u8 = b'e';
const EMPTY_TUPLE: u8 = b')';
const TUPLE: u8 = b't';
const EMPTY_DICT: u8 = b'}';
const SETITEM: u8 = b's';
const SETITEMS: u8 = b'u';
const BINFLOAT: u8 = b'G';
const PROTO: u8 = 0x80;
const TUPLE1: u8 = 0x85;
const TUPLE2: u8 = 0x86;
const TUPLE3: u8 = 0x87;
const NEWTRUE: u8 = 0x88;
const NEWFALSE: u8 = 0x89;
const LONG1: u8 = 0x8a;

/// The value pickled in `bytes`, if it is made of the opcodes serde-pickle
/// writes for a header and is well formed; `None` leaves it to serde-pickle.
pub fn parse(bytes: &[u8]) -> Option<Value> {
    let mut reader = Reader { bytes, at: 0 };
    let mut stack: Vec<Value> = Vec::with_capacity(8);
    let mut marks: Vec<usize> = Vec::with_capacity(4);
    loop {
        let opcode = reader.byte()?;
        match opcode {
            PROTO => {
                reader.take(1)?;
            }
            MARK => marks.push(stack.len()),
            STOP => {
                let whole = reader.at == bytes.len() && marks.is_empty() && stack.len() == 1;
                return if whole { stack.pop() } else { None };
            }
            NONE => stack.push(Value::None),
            NEWTRUE => stack.push(Value::Bool(true)),
            NEWFALSE => stack.push(Value::Bool(false)),
            BININT => stack.push(Value::I64(i32::from_le_bytes(reader.array()?).into())),
            BININT1 => stack.push(Value::I64(reader.byte()?.into())),
            BININT2 => stack.push(Value::I64(u16::from_le_bytes(reader.array()?).into())),
            LONG1 => {
                let len = usize::from(reader.byte()?);
                stack.push(Value::I64(long(reader.take(len)?)?));
            }
            BINFLOAT => stack.push(Value::F64(f64::from_be_bytes(reader.array()?))),
            BINUNICODE => {
                let len = u32::from_le_bytes(reader.array()?) as usize;
                let text = std::str::from_utf8(reader.take(len)?).ok()?;
                stack.push(Value::String(text.to_owned()));
            }
            SHORT_BINBYTES => {
                let len = usize::from(reader.byte()?);
                stack.push(Value::Bytes(reader.take(len)?.to_vec()));
            }
            BINBYTES => {
                let len = u32::from_le_bytes(reader.array()?) as usize;
                stack.push(Value::Bytes(reader.take(len)?.to_vec()));
            }
            EMPTY_LIST => stack.push(Value::List(Vec::new())),
            EMPTY_TUPLE => stack.push(Value::Tuple(Vec::new())),
            EMPTY_DICT => stack.push(Value::Dict(std::collections::BTreeMap::new())),
            TUPLE1 | TUPLE2 | TUPLE3 => {
                let len = usize::from(opcode - TUPLE1 + 1);
                let items = stack.split_off(stack.len().checked_sub(len)?);
                stack.push(Value::Tuple(items));
            }
            TUPLE => {
                let items = stack.split_off(marks.pop()?);
                stack.push(Value::Tuple(items));
            }
            APPEND => {
                let item = stack.pop()?;
                let Value::List(list) = stack.last_mut()? else {
                    return None;
                };
                list.push(item);
            }
            APPENDS => {
                let items = stack.split_off(marks.pop()?);
                let Value::List(list) = stack.last_mut()? else {
                    return None;
                };
                list.extend(items);
            }
            SETITEM => {
                let value = stack.pop()?;
                let key = stack.pop()?.into_hashable().ok()?;
                insert(stack.last_mut()?, [(key, value)])?;
            }
            SETITEMS => {
                let items = stack.split_off(marks.pop()?);
                if items.len() % 2 != 0 {
                    return None;
                }
                let mut pairs = Vec::with_capacity(items.len() / 2);
                let mut items = items.into_iter();
                while let (Some(key), Some(value)) = (items.next(), items.next()) {
                    pairs.push((key.into_hashable().ok()?, value));
                }
                insert(stack.last_mut()?, pairs)?;
            }
            _ => return None,
        }
    }
}

/// Adds `pairs` to `target`, which must be a dict.
fn insert(
    target: &mut Value,
    pairs: impl IntoIterator<Item = (HashableValue, Value)>,
) -> Option<()> {
    let Value::Dict(dict) = target else {
        return None;
    };
    dict.extend(pairs);
    Some(())
}

/// A `LONG1` integer (little-endian two's complement) that fits an `i64`.
fn long(bytes: &[u8]) -> Option<i64> {
    if bytes.len() > 16 {
        return None;
    }
    let negative = bytes.last().is_some_and(|last| last & 0x80 != 0);
    let mut wide = [if negative { 0xff } else { 0 }; 16];
    wide[..bytes.len()].copy_from_slice(bytes);
    i64::try_from(i128::from_le_bytes(wide)).ok()
}

/// The bytes of a pickle, read from the front.
struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn byte(&mut self) -> Option<u8> {
        let byte = *self.bytes.get(self.at)?;
        self.at += 1;
        Some(byte)
    }

    fn take(&mut self, len: usize) -> Option<&'a [u8]> {
        let end = self.at.checked_add(len)?;
        let taken = self.bytes.get(self.at..end)?;
        self.at = end;
        Some(taken)
    }

    fn array<const N: usize>(&mut self) -> Option<[u8; N]> {
        self.take(N)?.try_into().ok()
    }
}
