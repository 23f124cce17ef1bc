/**
 * The label schema of phantom cases (labels.nii.gz values, see generate.ts): the whole bone is
 * values 1..4 (three parts plus the rim that belongs to no part); parts in class order are
 * 1 left, 2 centre, 3 right. resources/presets/phantom.json is this object, written out.
 */
import type { LabelSchema } from '../labels/schema.ts';
import { validateLabelSchema } from '../labels/schema.ts';
import { LABEL } from './generate.ts';

export const PHANTOM_SCHEMA: LabelSchema = validateLabelSchema({
  schema: 'osteon-labels/1',
  name: 'phantom',
  description:
    'Synthetic horseshoe bone from `osteon phantom`. The whole is label values 1..4: three touching parts ' +
    '(1 left arm, 2 centre, 3 right arm) plus 4, a one-voxel rim on the superior surface that belongs to the ' +
    'whole but to no part, so the whole is slightly larger than the union of the parts. Class order: 1 left, 2 centre, 3 right.',
  structures: [
    { id: 'bone', name: 'Bone', colour: '#E8DCC4', role: 'whole', source: { kind: 'labelmap', values: [LABEL.left, LABEL.centre, LABEL.right, LABEL.rim] } },
    { id: 'left', name: 'Left arm', colour: '#4FC3F7', role: 'part', source: { kind: 'labelmap', values: [LABEL.left] } },
    { id: 'centre', name: 'Centre', colour: '#AED581', role: 'part', source: { kind: 'labelmap', values: [LABEL.centre] } },
    { id: 'right', name: 'Right arm', colour: '#FFB74D', role: 'part', source: { kind: 'labelmap', values: [LABEL.right] } },
  ],
}, 'phantom schema');
