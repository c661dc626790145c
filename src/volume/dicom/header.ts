import type { HeaderField } from '../../shared/volume-meta';
import { TAG_NAMES } from './dictionary';
import type { DataSet, Element } from './parse';

const MAX_SHOWN = 256;

const tagLabel = (t: string) => `(${t.slice(1, 5)},${t.slice(5, 9)})`.toUpperCase();

function printable(ds: DataSet, el: Element): string | undefined {
  const b = ds.byteArray.subarray(el.dataOffset, el.dataOffset + Math.min(el.length, MAX_SHOWN));
  for (const c of b) if ((c < 0x20 || c > 0x7e) && c !== 0) return undefined;
  return ds.string(el.tag);
}

function binaryValues(el: Element, read: (tag: string, i: number) => number | undefined, size: number): string {
  const n = Math.min(Math.floor(el.length / size), 16);
  const v: string[] = [];
  for (let i = 0; i < n; i++) v.push(String(read(el.tag, i)));
  return v.join('\\') + (el.length / size > n ? '\\...' : '');
}

/** A readable value for any element: text, numbers, or a size for binary data and sequences. */
function valueOf(ds: DataSet, el: Element): string {
  if (el.items) return `<sequence of ${el.items.length} item(s)>`;
  if (el.tag === 'x7fe00010') return el.encapsulatedPixelData ? `<encapsulated, ${el.fragments?.length ?? 0} fragment(s)>` : `<${el.length} bytes>`;
  switch (el.vr) {
    case 'US': return binaryValues(el, ds.uint16.bind(ds), 2);
    case 'SS': return binaryValues(el, ds.int16.bind(ds), 2);
    case 'UL': return binaryValues(el, ds.uint32.bind(ds), 4);
    case 'SL': return binaryValues(el, ds.int32.bind(ds), 4);
    case 'FL': return binaryValues(el, ds.float.bind(ds), 4);
    case 'FD': return binaryValues(el, ds.double.bind(ds), 8);
    case 'OB': case 'OW': case 'OF': case 'OD': case 'OL': case 'OV': case 'UN':
      return `<${el.length} bytes>`;
    case undefined: {
      // Implicit VR: guess from the bytes.
      const s = printable(ds, el);
      if (s !== undefined) return s.length > MAX_SHOWN ? `${s.slice(0, MAX_SHOWN)}...` : s;
      if (el.length === 2) return String(ds.uint16(el.tag));
      if (el.length === 4) return String(ds.uint32(el.tag));
      return `<${el.length} bytes>`;
    }
    default: {
      const s = ds.string(el.tag) ?? '';
      return s.length > MAX_SHOWN ? `${s.slice(0, MAX_SHOWN)}...` : s;
    }
  }
}

/** Top-level elements of an instance as header-panel rows, private tags included (marked by their odd group). */
export function headerFields(ds: DataSet): HeaderField[] {
  return Object.keys(ds.elements)
    .sort()
    .map((tag) => {
      const el = ds.elements[tag];
      let value: string;
      try {
        value = el.dataOffset + Math.min(el.length, 8) <= ds.byteArray.length || el.items ? valueOf(ds, el) : '<not loaded>';
      } catch {
        value = '<unreadable>';
      }
      return { tag: tagLabel(tag), name: TAG_NAMES[tag] ?? (Number.parseInt(tag.slice(1, 5), 16) % 2 ? 'Private' : ''), value };
    });
}
