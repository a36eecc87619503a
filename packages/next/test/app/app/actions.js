'use server';
import { getGrayVersion } from '@graylane/next';

export async function laneOfAction() {
  return getGrayVersion();
}
